<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16-Białowieża" styleCategories="Symbology|Labeling" hasScaleBasedVisibilityFlag="0" minScale="100000000" maxScale="0" labelsEnabled="1">
 <renderer-v2 type="categorizedSymbol" attr="road_class" forceraster="0" symbollevels="0" enableorderby="0" referencescale="-1">
  <categories>
   <category value="motorway" label="motorway" symbol="0" render="true" />
   <category value="trunk" label="trunk" symbol="1" render="true" />
   <category value="primary" label="primary" symbol="2" render="true" />
   <category value="secondary" label="secondary" symbol="3" render="true" />
   <category value="tertiary" label="tertiary" symbol="4" render="true" />
   <category value="unclassified" label="unclassified" symbol="5" render="true" />
   <category value="residential" label="residential" symbol="6" render="true" />
   <category value="service" label="service" symbol="7" render="true" />
   <category value="motorway_link" label="motorway link" symbol="8" render="true" />
   <category value="trunk_link" label="trunk link" symbol="9" render="true" />
   <category value="primary_link" label="primary link" symbol="10" render="true" />
   <category value="secondary_link" label="secondary link" symbol="11" render="true" />
   <category value="tertiary_link" label="tertiary link" symbol="12" render="true" />
   <category value="living_street" label="living street" symbol="13" render="true" />
   <category value="pedestrian" label="pedestrian" symbol="14" render="true" />
   <category value="track" label="track" symbol="15" render="true" />
   <category value="busway" label="busway" symbol="16" render="true" />
   <category value="bus_guideway" label="bus guideway" symbol="17" render="true" />
   <category value="road" label="road" symbol="18" render="true" />
   <category value="escape" label="escape" symbol="19" render="true" />
   <category value="footway" label="footway" symbol="20" render="true" />
   <category value="path" label="path" symbol="21" render="true" />
   <category value="cycleway" label="cycleway" symbol="22" render="true" />
   <category value="bridleway" label="bridleway" symbol="23" render="true" />
   <category value="steps" label="steps" symbol="24" render="true" />
   <category value="corridor" label="corridor" symbol="25" render="true" />
  </categories>
  <symbols>
   <symbol type="line" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="232,70,124,255" type="QString" />
      <Option name="line_width" value="0.794" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="1" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="240,127,60,255" type="QString" />
      <Option name="line_width" value="0.714" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="2" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="244,167,59,255" type="QString" />
      <Option name="line_width" value="0.595" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="3" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="230,200,79,255" type="QString" />
      <Option name="line_width" value="0.496" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="4" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="155,155,155,255" type="QString" />
      <Option name="line_width" value="0.397" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="5" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="176,176,176,255" type="QString" />
      <Option name="line_width" value="0.337" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="6" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="189,189,189,255" type="QString" />
      <Option name="line_width" value="0.318" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="7" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="217,217,217,255" type="QString" />
      <Option name="line_width" value="0.238" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="8" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="232,70,124,255" type="QString" />
      <Option name="line_width" value="0.476" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="9" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="240,127,60,255" type="QString" />
      <Option name="line_width" value="0.437" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="10" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="244,167,59,255" type="QString" />
      <Option name="line_width" value="0.397" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="11" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="230,200,79,255" type="QString" />
      <Option name="line_width" value="0.357" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="12" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="155,155,155,255" type="QString" />
      <Option name="line_width" value="0.318" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="13" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="199,199,199,255" type="QString" />
      <Option name="line_width" value="0.278" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="14" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="221,221,232,255" type="QString" />
      <Option name="line_width" value="0.238" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="15" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="168,126,60,255" type="QString" />
      <Option name="line_width" value="0.198" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="16" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="74,120,184,255" type="QString" />
      <Option name="line_width" value="0.278" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="17" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="74,120,184,255" type="QString" />
      <Option name="line_width" value="0.278" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="18" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="196,196,196,255" type="QString" />
      <Option name="line_width" value="0.278" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="19" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="196,196,196,255" type="QString" />
      <Option name="line_width" value="0.198" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="20" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="250,128,114,255" type="QString" />
      <Option name="line_width" value="0.139" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="21" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="250,128,114,255" type="QString" />
      <Option name="line_width" value="0.139" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="22" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="46,123,214,255" type="QString" />
      <Option name="line_width" value="0.139" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="23" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="63,156,63,255" type="QString" />
      <Option name="line_width" value="0.139" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="24" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="250,128,114,255" type="QString" />
      <Option name="line_width" value="0.139" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="line" name="25" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="224,160,160,255" type="QString" />
      <Option name="line_width" value="0.119" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
  </symbols>
  <source-symbol>
   <symbol type="line" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleLine" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="line_color" value="107,107,107,255" type="QString" />
      <Option name="line_width" value="0.397" type="QString" />
      <Option name="line_width_unit" value="MM" type="QString" />
      <Option name="line_style" value="solid" type="QString" />
      <Option name="capstyle" value="round" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
  </source-symbol>
 </renderer-v2>
 <labeling type="simple">
  <settings calloutType="simple">
   <text-style fieldName="name" isExpression="0" fontFamily="DejaVu Sans" fontSize="8" fontSizeUnit="Point" textColor="34,34,34,255" textOpacity="1">
    <text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" bufferColor="255,255,255,255" bufferOpacity="0.8" />
   </text-style>
   <placement placement="3" dist="1" distUnits="MM" placementFlags="10" />
   <rendering scaleVisibility="1" scaleMin="0" scaleMax="8531" obstacle="1" drawLabels="1" />
  </settings>
 </labeling>
 <blendMode>0</blendMode>
 <featureBlendMode>0</featureBlendMode>
 <layerGeometryType>1</layerGeometryType>
</qgis>
