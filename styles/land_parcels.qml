<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16-Białowieża" styleCategories="Symbology|Labeling" hasScaleBasedVisibilityFlag="1" minScale="34124" maxScale="0" labelsEnabled="0">
 <renderer-v2 type="categorizedSymbol" attr="land_use" forceraster="0" symbollevels="0" enableorderby="0" referencescale="-1">
  <categories>
   <category value="ODT" label="ODT urban residential" symbol="0" render="true" />
   <category value="ONT" label="ONT rural residential" symbol="1" render="true" />
   <category value="CLN" label="CLN perennial crops" symbol="2" render="true" />
   <category value="LUC" label="LUC rice (wet)" symbol="3" render="true" />
   <category value="LUK" label="LUK rice (other)" symbol="4" render="true" />
   <category value="BHK" label="BHK annual crops" symbol="5" render="true" />
   <category value="NTS" label="NTS aquaculture" symbol="6" render="true" />
   <category value="DGT" label="DGT transport" symbol="7" render="true" />
   <category value="DTL" label="DTL irrigation" symbol="8" render="true" />
   <category value="DGD" label="DGD education" symbol="9" render="true" />
   <category value="DYT" label="DYT health" symbol="10" render="true" />
   <category value="DVH" label="DVH culture" symbol="11" render="true" />
   <category value="DTT" label="DTT sport" symbol="12" render="true" />
   <category value="TMD" label="TMD commerce and services" symbol="13" render="true" />
   <category value="SKC" label="SKC production and business" symbol="14" render="true" />
   <category value="TSC" label="TSC agency offices" symbol="15" render="true" />
   <category value="CQP" label="CQP defence" symbol="16" render="true" />
   <category value="CAN" label="CAN security" symbol="17" render="true" />
   <category value="TON" label="TON religious" symbol="18" render="true" />
   <category value="NTD" label="NTD cemeteries" symbol="19" render="true" />
   <category value="DKV" label="DKV recreation" symbol="20" render="true" />
   <category value="SON" label="SON rivers and canals" symbol="21" render="true" />
   <category value="MNC" label="MNC water surface" symbol="22" render="true" />
   <category value="CSD" label="CSD unused" symbol="23" render="true" />
  </categories>
  <symbols>
   <symbol type="fill" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="255,179,198,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="1" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="255,208,224,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="2" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="166,217,106,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="3" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="255,255,153,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="4" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="245,240,140,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="5" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="230,245,152,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="6" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="143,211,232,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="7" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="207,207,207,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="8" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="158,202,225,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="9" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="194,165,207,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="10" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="231,161,208,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="11" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="179,157,219,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="12" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="184,225,134,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="13" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="244,165,130,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="14" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="214,96,77,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="15" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="188,128,189,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="16" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="140,109,49,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="17" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="161,136,127,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="18" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="253,184,99,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="19" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="186,186,186,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="20" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="127,188,65,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="21" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="107,174,214,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="22" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="66,146,198,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="23" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="240,240,240,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
  </symbols>
  <source-symbol>
   <symbol type="fill" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="242,230,201,255" type="QString" />
      <Option name="style" value="solid" type="QString" />
      <Option name="outline_color" value="160,138,91,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.106" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
  </source-symbol>
 </renderer-v2>
 <blendMode>0</blendMode>
 <featureBlendMode>0</featureBlendMode>
 <layerGeometryType>2</layerGeometryType>
</qgis>
