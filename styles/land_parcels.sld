<?xml version="1.0" encoding="UTF-8"?>
<sld:StyledLayerDescriptor xmlns:ogc="http://www.opengis.net/ogc" xmlns:se="http://www.opengis.net/se" xmlns:sld="http://www.opengis.net/sld" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1.0" xsi:schemaLocation="http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd">
 <sld:NamedLayer>
  <se:Name>land_parcels</se:Name>
  <sld:UserStyle>
   <se:Name>land_parcels</se:Name>
   <se:Description>
    <se:Title>Land parcels</se:Title>
   </se:Description>
   <se:FeatureTypeStyle>
    <se:Rule>
     <se:Name>ODT</se:Name>
     <se:Description>
      <se:Title>ODT urban residential</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>ODT</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#ffb3c6</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>ONT</se:Name>
     <se:Description>
      <se:Title>ONT rural residential</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>ONT</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#ffd0e0</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>CLN</se:Name>
     <se:Description>
      <se:Title>CLN perennial crops</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>CLN</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#a6d96a</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>LUC</se:Name>
     <se:Description>
      <se:Title>LUC rice (wet)</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>LUC</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#ffff99</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>LUK</se:Name>
     <se:Description>
      <se:Title>LUK rice (other)</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>LUK</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#f5f08c</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>BHK</se:Name>
     <se:Description>
      <se:Title>BHK annual crops</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>BHK</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#e6f598</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>NTS</se:Name>
     <se:Description>
      <se:Title>NTS aquaculture</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>NTS</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#8fd3e8</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>DGT</se:Name>
     <se:Description>
      <se:Title>DGT transport</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>DGT</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#cfcfcf</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>DTL</se:Name>
     <se:Description>
      <se:Title>DTL irrigation</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>DTL</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#9ecae1</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>DGD</se:Name>
     <se:Description>
      <se:Title>DGD education</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>DGD</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#c2a5cf</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>DYT</se:Name>
     <se:Description>
      <se:Title>DYT health</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>DYT</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#e7a1d0</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>DVH</se:Name>
     <se:Description>
      <se:Title>DVH culture</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>DVH</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#b39ddb</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>DTT</se:Name>
     <se:Description>
      <se:Title>DTT sport</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>DTT</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#b8e186</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>TMD</se:Name>
     <se:Description>
      <se:Title>TMD commerce and services</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>TMD</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#f4a582</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>SKC</se:Name>
     <se:Description>
      <se:Title>SKC production and business</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>SKC</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#d6604d</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>TSC</se:Name>
     <se:Description>
      <se:Title>TSC agency offices</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>TSC</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#bc80bd</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>CQP</se:Name>
     <se:Description>
      <se:Title>CQP defence</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>CQP</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#8c6d31</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>CAN</se:Name>
     <se:Description>
      <se:Title>CAN security</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>CAN</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#a1887f</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>TON</se:Name>
     <se:Description>
      <se:Title>TON religious</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>TON</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#fdb863</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>NTD</se:Name>
     <se:Description>
      <se:Title>NTD cemeteries</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>NTD</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#bababa</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>DKV</se:Name>
     <se:Description>
      <se:Title>DKV recreation</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>DKV</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#7fbc41</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>SON</se:Name>
     <se:Description>
      <se:Title>SON rivers and canals</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>SON</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#6baed6</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>MNC</se:Name>
     <se:Description>
      <se:Title>MNC water surface</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>MNC</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#4292c6</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>CSD</se:Name>
     <se:Description>
      <se:Title>CSD unused</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>land_use</ogc:PropertyName>
       <ogc:Literal>CSD</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#f0f0f0</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>other</se:Name>
     <se:Description>
      <se:Title>other</se:Title>
     </se:Description>
     <se:ElseFilter />
     <se:MaxScaleDenominator>34124</se:MaxScaleDenominator>
     <se:PolygonSymbolizer>
      <se:Fill>
       <se:SvgParameter name="fill">#9e9e9e</se:SvgParameter>
       <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
      </se:Fill>
      <se:Stroke>
       <se:SvgParameter name="stroke">#a08a5b</se:SvgParameter>
       <se:SvgParameter name="stroke-width">0.4</se:SvgParameter>
       <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
       <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
      </se:Stroke>
     </se:PolygonSymbolizer>
    </se:Rule>
   </se:FeatureTypeStyle>
  </sld:UserStyle>
 </sld:NamedLayer>
</sld:StyledLayerDescriptor>
